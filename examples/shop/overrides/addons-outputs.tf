# An extra Terraform file in root 40-addons: the inventory job reads the installed chart versions
# with `terraform output`.
output "kube_prometheus_stack_chart_version" {
  description = "The kube-prometheus-stack chart version installed."
  value       = helm_release.kube_prometheus_stack.version
}
