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

{{/* One image per service (deploy/docker/Dockerfile, --build-arg SERVICE): <repository>-<service>:<tag>.
     Call with (dict "root" $ "name" $serviceName). */}}
{{- define "regua.image" -}}
{{- printf "%s-%s:%s" .root.Values.image.repository .name (.root.Values.image.tag | default .root.Chart.AppVersion) }}
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

{{/* Kafka bootstrap servers: the configured value (an existing Kafka; the chart bundles none). */}}
{{- define "regua.kafkaBootstrap" -}}
{{- .Values.config.REGUA_KAFKA_BOOTSTRAP_SERVERS }}
{{- end }}

{{/* Labels and selector of one service's resources. Call with (dict "root" $ "name" $serviceName). */}}
{{- define "regua.component.labels" -}}
{{ include "regua.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "regua.component.selector" -}}
{{ include "regua.selectorLabels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{/* The database connections the release may open at most: each service's pods (at their autoscaling
     maximum) times its pool size, plus one pool per migration Job and training run. */}}
{{- define "regua.dbConnections" -}}
{{- $total := 0 }}
{{- $default := .Values.config.REGUA_DB_POOL_MAX | default "10" | int }}
{{- range $name, $svc := .Values.services }}
{{- if $svc.enabled }}
{{- $pods := $svc.replicas | int }}
{{- if and $svc.autoscaling $svc.autoscaling.enabled }}{{ $pods = $svc.autoscaling.maxReplicas | int }}{{ end }}
{{- $pool := (get ($svc.env | default dict) "REGUA_DB_POOL_MAX") | default $default | int }}
{{- $total = add $total (mul $pods $pool) }}
{{- end }}
{{- end }}
{{- if .Values.creditTraining.enabled }}{{ $total = add $total $default }}{{ end }}
{{- $total }}
{{- end }}

{{/* A secret the chart chooses: derived from secret.masterKey when given (the same on every render, so
     `helm template` / GitOps renders do not rotate the link secret or the PII keys), else random (kept on
     upgrade by lookup). Call with (dict "root" $ "key" name "length" n). */}}
{{- define "regua.generatedSecret" -}}
{{- $master := .root.Values.secret.masterKey }}
{{- if $master }}
{{- if lt (len $master) 32 }}{{ fail "secret.masterKey must be at least 32 characters (e.g. openssl rand -hex 32)" }}{{ end }}
{{- printf "%s:%s" $master .key | sha256sum | trunc .length }}
{{- else }}
{{- randAlphaNum .length }}
{{- end }}
{{- end }}

{{/* Pod spec of a one-off container (migrations, training): the shared config inline (a pre-install hook
     runs before the ConfigMap exists), the shared Secret, non-root and read-only like the services.
     Call with (dict "root" $ "name" service "command" list "resources" map). */}}
{{- define "regua.jobPod" -}}
{{- $root := .root }}
serviceAccountName: {{ include "regua.serviceAccountName" $root }}
automountServiceAccountToken: false
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
containers:
  - name: {{ .name }}
    image: {{ include "regua.image" (dict "root" $root "name" .name) | quote }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    command: {{ toJson .command }}
    envFrom:
      - secretRef:
          name: {{ include "regua.secretName" $root }}
    env:
      - name: REGUA_SERVICE_NAME
        value: {{ printf "%s-job" .name | quote }}
      {{- range $key, $value := $root.Values.config }}
      {{- if $value }}
      - name: {{ $key }}
        value: {{ $value | toString | quote }}
      {{- end }}
      {{- end }}
    resources:
      {{- toYaml .resources | nindent 6 }}
    securityContext:
      {{- toYaml $root.Values.securityContext | nindent 6 }}
    volumeMounts:
      - name: tmp
        mountPath: /tmp
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
{{- end }}
