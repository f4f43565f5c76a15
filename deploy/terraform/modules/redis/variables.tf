variable "project_id" {
  description = "Google Cloud project."
  type        = string
}

variable "region" {
  description = "Region of the instance."
  type        = string
}

variable "name" {
  description = "Instance name."
  type        = string
  default     = "ballsy-redis"
}

variable "tier" {
  description = "BASIC (one node) or STANDARD_HA (a replica and automatic failover)."
  type        = string
}

variable "memory_size_gb" {
  description = "Capacity in GB."
  type        = number
  default     = 1
}

variable "network_id" {
  description = "VPC allowed to connect."
  type        = string
}

variable "private_services_connection" {
  description = "The private service access peering, created before the instance."
  type        = string
}

variable "labels" {
  description = "Labels on every resource."
  type        = map(string)
  default     = {}
}
