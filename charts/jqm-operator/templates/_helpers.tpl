{{/* Names and labels shared by the templates. */}}
{{- define "jqm-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "jqm-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "jqm-operator.labels" -}}
{{ include "jqm-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: jqm
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "jqm-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "jqm-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "jqm-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
Rules on the namespaced resources the operator manages (a ClusterRole or one Role per namespace), each with
why it exists. Children are server-side applied (get, create, patch); "update" replaces a child whose hand
edit the API server cannot merge with the operator's fields (e.g. a Service port renamed into a duplicate).
*/}}
{{- define "jqm-operator.namespacedRules" -}}
# kopf watches JqmClusters and keeps its progress annotations and finalizer on them.
- apiGroups: [jqm.enioka-community.io]
  resources: [jqmclusters]
  verbs: [get, list, watch, patch, update]
- apiGroups: [jqm.enioka-community.io]
  resources: [jqmclusters/status]
  verbs: [get, patch, update]
# Children. ConfigMaps: node.yaml and the ID ledger (created without data: the nodes own its entries);
# "update" also because Kubernetes lets the operator grant the nodes' Role (get, update, patch on the
# ledger) only if it holds those rights itself. ServiceAccounts, Roles, RoleBindings: the node pods'
# identity, allowed to get, update and patch their cluster's ledger ConfigMap and nothing else.
- apiGroups: [""]
  resources: [configmaps, services, serviceaccounts]
  verbs: [get, create, patch, update]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, rolebindings]
  verbs: [get, create, patch, update]
# Deployments: also list/watch, so readiness reaches the JqmCluster status at once.
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, patch, update]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, create, patch, update]
# Optional children: also deleted when a spec disables them.
- apiGroups: [networking.k8s.io]
  resources: [ingresses, networkpolicies]
  verbs: [get, create, patch, update, delete]
# The <cluster>-auth Secret: created once, completed (missing keys) or taken over from a deleted cluster of
# the same name with patch, never deleted; read for the management token the drain calls carry, and to
# check that the users and TLS Secrets a spec names have their keys.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, create, patch]
# Node pods: listed by the node timer; patched with their deletion cost (running + queued jobs); deleted,
# never without a grace period, only to replace a node drained by someone else that cannot be undrained.
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, patch, delete]
# ID-limit restarts go through the Eviction API, which enforces the PodDisruptionBudget.
- apiGroups: [""]
  resources: [pods/eviction]
  verbs: [create]
{{- if eq .Values.nodeAccess "proxy" "auto" }}
# nodeAccess proxy/auto: the nodes' management port through the API server.
- apiGroups: [""]
  resources: [pods/proxy]
  verbs: [get, create]
{{- end }}
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end -}}

{{/* The operator's pods, as JqmCluster NetworkPolicies admit them to the nodes' management port. */}}
{{- define "jqm-operator.identityNamespace" -}}
{{- default .Release.Namespace .Values.networkPolicy.operatorNamespace -}}
{{- end -}}

{{- define "jqm-operator.identityLabels" -}}
{{- $labels := .Values.networkPolicy.operatorPodLabels | default (include "jqm-operator.selectorLabels" . | fromYaml) -}}
{{- $pairs := list -}}
{{- range $key, $value := $labels }}{{ $pairs = append $pairs (printf "%s=%s" $key $value) }}{{ end -}}
{{- join "," $pairs -}}
{{- end -}}
