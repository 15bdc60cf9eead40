{{/* The chart's name, 63 characters at most (a label value's limit). */}}
{{- define "relay.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's full name: the release name alone when it already contains the chart's name
("relay" → relay), else <release>-<chart>.
*/}}
{{- define "relay.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "relay.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The Deployment's one selector label. Flagger needs a single selector label and names the primary
pods <value>-primary; the full name keeps two releases in one namespace apart.
*/}}
{{- define "relay.selectorLabels" -}}
app.kubernetes.io/name: {{ include "relay.fullname" . }}
{{- end }}

{{/*
What every pod of the release carries, the Flagger primary's included: the NetworkPolicy, the
PodDisruptionBudget and the anti-affinity select on it.
*/}}
{{- define "relay.podGroupLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "relay.podLabels" -}}
{{ include "relay.selectorLabels" . }}
{{ include "relay.podGroupLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: llm-relay
{{- end }}

{{- define "relay.labels" -}}
{{ include "relay.podLabels" . }}
helm.sh/chart: {{ include "relay.chart" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "relay.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "relay.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "relay.secretName" -}}
{{- default (printf "%s-secrets" (include "relay.fullname" .)) .Values.secrets.existingSecret }}
{{- end }}

{{- define "relay.configMapName" -}}
{{- printf "%s-config" (include "relay.fullname" .) }}
{{- end }}
