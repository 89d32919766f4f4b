{{/* Chart name. */}}
{{- define "regua.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name; a service's resources are "<fullname>-<service>". */}}
{{- define "regua.fullname" -}}
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

{{/* Name of one service's Deployment and Service. Call with (dict "root" $ "name" $serviceName). */}}
{{- define "regua.componentName" -}}
{{- printf "%s-%s" (include "regua.fullname" .root) .name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "regua.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "regua.labels" -}}
helm.sh/chart: {{ include "regua.chart" . }}
{{ include "regua.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: regua
{{- end }}

{{- define "regua.selectorLabels" -}}
app.kubernetes.io/name: {{ include "regua.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "regua.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{- define "regua.configName" -}}
{{- printf "%s-config" (include "regua.fullname" .) }}
{{- end }}

{{- define "regua.secretName" -}}
{{- .Values.secret.existingSecret | default (printf "%s-secret" (include "regua.fullname" .)) }}
{{- end }}

{{- define "regua.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "regua.fullname" .) }}
{{- else }}
{{- .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{- define "regua.httpPort" -}}
{{- .Values.config.REGUA_HTTP_PORT | default "8000" | int }}
{{- end }}

{{/* Kafka bootstrap servers: the configured value, else the bundled Kafka's service. */}}
{{- define "regua.kafkaBootstrap" -}}
{{- if .Values.config.REGUA_KAFKA_BOOTSTRAP_SERVERS }}
{{- .Values.config.REGUA_KAFKA_BOOTSTRAP_SERVERS }}
{{- else if .Values.kafka.enabled }}
{{- printf "%s-kafka:9092" .Release.Name }}
{{- end }}
{{- end }}

{{/* "true" when REGUA_DATABASE_URL is built from the bundled PostgreSQL chart's service and Secret. */}}
{{- define "regua.bundledDatabaseUrl" -}}
{{- if and .Values.postgresql.enabled (not .Values.secret.existingSecret) (not .Values.secret.values.REGUA_DATABASE_URL) }}
{{- "true" }}
{{- end }}
{{- end }}
