variable "project_id" {
  description = "Google Cloud project of this environment."
  type        = string
}

variable "region" {
  description = "Region of every regional resource."
  type        = string
  default     = "europe-west1"
}

variable "domain" {
  description = "Public host name."
  type        = string
}

variable "alert_email" {
  description = "Where alerts and budget notices go."
  type        = string
}

variable "billing_account" {
  description = "Billing account id for the budget alert; empty: no budget."
  type        = string
  default     = ""
}

variable "release" {
  description = "Image tag of the first revision (later ones come from deploy.sh)."
  type        = string
  default     = "latest"
}
