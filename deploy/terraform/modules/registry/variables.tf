variable "project_id" {
  description = "Google Cloud project."
  type        = string
}

variable "region" {
  description = "Location of the repository."
  type        = string
}

variable "name" {
  description = "Repository id."
  type        = string
  default     = "ballsy"
}

variable "keep_versions" {
  description = "Most recent image versions kept whatever their age (rollback targets)."
  type        = number
  default     = 20
}

variable "labels" {
  description = "Labels on every resource."
  type        = map(string)
  default     = {}
}
