# A Terraform override file (Terraform merges it over the root's own blocks): five agents instead
# of three on Hetzner. Every block here must override one the root declares.
variable "agent_count" {
  default = 5
}
