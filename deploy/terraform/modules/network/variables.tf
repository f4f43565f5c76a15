variable "project_id" {
  description = "Google Cloud project."
  type        = string
}

variable "region" {
  description = "Region of the Cloud Run subnet."
  type        = string
}

variable "name" {
  description = "Name of the network; the subnet is <name>-run."
  type        = string
  default     = "ballsy"
}

variable "run_cidr" {
  description = "Range of the subnet Cloud Run instances take addresses from (one per instance)."
  type        = string
  default     = "10.8.0.0/22"
}
