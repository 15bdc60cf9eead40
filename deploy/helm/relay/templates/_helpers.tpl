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

{{/* The port /metrics is served on: metrics.port (METRICS_PORT), or the API's 8080 when it is 0 or null. */}}
{{- define "relay.metricsPort" -}}
{{- if .Values.metrics.port }}{{ int .Values.metrics.port }}{{ else }}8080{{ end }}
{{- end }}

{{/* The Secret holding METRICS_TOKEN: metrics.existingSecret, the chart's own with metrics.token, else "". */}}
{{- define "relay.metricsTokenSecretName" -}}
{{- if .Values.metrics.existingSecret }}
{{- .Values.metrics.existingSecret }}
{{- else if .Values.metrics.token }}
{{- printf "%s-metrics" (include "relay.fullname" .) }}
{{- end }}
{{- end }}

{{- define "relay.metricsTokenSecretKey" -}}
{{- if .Values.metrics.existingSecret }}{{ .Values.metrics.existingSecretKey }}{{ else }}METRICS_TOKEN{{ end }}
{{- end }}

{{/* Refuses metrics settings the relay or the scrape would fail on; renders nothing. */}}
{{- define "relay.checkMetrics" -}}
{{- if eq (int .Values.metrics.port) 8080 }}
{{- fail "metrics.port 8080 is the API's port: set 0 to serve /metrics there, or another port" }}
{{- end }}
{{- if and .Values.metrics.token .Values.metrics.existingSecret }}
{{- fail "metrics.token and metrics.existingSecret are both set: keep the metrics token in one place" }}
{{- end }}
{{- with .Values.service.annotations }}
{{- with index . "prometheus.io/port" }}
{{- if ne . (include "relay.metricsPort" $) }}
{{- fail (printf "service.annotations prometheus.io/port is %q, but /metrics is served on port %s (metrics.port): make them the same, or drop the annotations (service.annotations=null)" . (include "relay.metricsPort" $)) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
