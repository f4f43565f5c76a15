variable "project_id" {
  description = "Google Cloud project."
  type        = string
}

variable "region" {
  description = "Region of the service."
  type        = string
}

variable "name" {
  description = "Service name (ballsy-<role>)."
  type        = string
}

variable "role" {
  description = "Ballsy process role: api, realtime or worker."
  type        = string
}

variable "image" {
  description = "Image of the first revision; later revisions are releases."
  type        = string
}

variable "args" {
  description = "Arguments to the `ballsy` entrypoint, e.g. [\"serve\", \"--role\", \"api\"]."
  type        = list(string)
}

variable "service_account_email" {
  description = "Identity of the instances."
  type        = string
}

variable "cpu" {
  description = "vCPUs per instance."
  type        = string
  default     = "2"
}

variable "memory" {
  description = "Memory per instance."
  type        = string
  default     = "2Gi"
}

variable "concurrency" {
  description = "Requests (or WebSockets) one instance takes at once."
  type        = number
  default     = 80
}

variable "timeout_seconds" {
  description = "Request timeout; a WebSocket lives at most this long."
  type        = number
  default     = 300
}

variable "min_instances" {
  description = "Instances kept warm."
  type        = number
  default     = 0
}

variable "max_instances" {
  description = "Upper bound of autoscaling."
  type        = number
  default     = 20
}

variable "cpu_always_allocated" {
  description = "CPU between requests too (instance-based billing): WebSockets, job workers."
  type        = bool
  default     = false
}

variable "session_affinity" {
  description = "Send a client back to the same instance while it lives."
  type        = bool
  default     = false
}

variable "ingress" {
  description = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER (behind the LB) or INGRESS_TRAFFIC_INTERNAL_ONLY."
  type        = string
  default     = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
}

variable "public" {
  description = "Let the load balancer invoke it without IAM (Ballsy authenticates)."
  type        = bool
  default     = true
}

variable "env" {
  description = "Plain environment variables (Ballsy settings)."
  type        = map(string)
  default     = {}
}

variable "secret_env" {
  description = "Environment variable => Secret Manager secret id (latest version)."
  type        = map(string)
  default     = {}
}

variable "sql_connection_name" {
  description = "Cloud SQL instance mounted at /cloudsql."
  type        = string
}

variable "network" {
  description = "VPC for Direct VPC egress (Memorystore, Cloud SQL private IP)."
  type        = string
}

variable "subnetwork" {
  description = "Subnet the instances take addresses from."
  type        = string
}

variable "deletion_protection" {
  description = "Refuse to delete the service."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels on every resource."
  type        = map(string)
  default     = {}
}
