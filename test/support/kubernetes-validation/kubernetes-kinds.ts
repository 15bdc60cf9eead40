import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as coreV1 from 'kubernetes-models/v1';

/** How one built-in kind is checked: its JSON Schema model, and its TypeScript interface. */
export interface KubernetesKind {
  model: new (data: any) => { validate(): void };
  /** Module and interface for the TypeScript check of field names. */
  typeModule: string;
  typeName: string;
}

/** The built-in kinds the manifests and the chart use, keyed by `apiVersion/kind`. */
export const kubernetesKinds: Record<string, KubernetesKind> = {
  'v1/Namespace': { model: coreV1.Namespace, typeModule: 'kubernetes-models/v1/Namespace', typeName: 'INamespace' },
  'v1/ServiceAccount': { model: coreV1.ServiceAccount, typeModule: 'kubernetes-models/v1/ServiceAccount', typeName: 'IServiceAccount' },
  'v1/ConfigMap': { model: coreV1.ConfigMap, typeModule: 'kubernetes-models/v1/ConfigMap', typeName: 'IConfigMap' },
  'v1/Secret': { model: coreV1.Secret, typeModule: 'kubernetes-models/v1/Secret', typeName: 'ISecret' },
  'v1/Service': { model: coreV1.Service, typeModule: 'kubernetes-models/v1/Service', typeName: 'IService' },
  'apps/v1/Deployment': { model: appsV1.Deployment, typeModule: 'kubernetes-models/apps/v1/Deployment', typeName: 'IDeployment' },
  'networking.k8s.io/v1/Ingress': { model: networkingV1.Ingress, typeModule: 'kubernetes-models/networking.k8s.io/v1/Ingress', typeName: 'IIngress' },
  'networking.k8s.io/v1/NetworkPolicy': {
    model: networkingV1.NetworkPolicy,
    typeModule: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
    typeName: 'INetworkPolicy',
  },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    model: autoscalingV2.HorizontalPodAutoscaler,
    typeModule: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
    typeName: 'IHorizontalPodAutoscaler',
  },
  'policy/v1/PodDisruptionBudget': { model: policyV1.PodDisruptionBudget, typeModule: 'kubernetes-models/policy/v1/PodDisruptionBudget', typeName: 'IPodDisruptionBudget' },
};
