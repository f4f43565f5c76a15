variable "project_id" {
  description = "Google Cloud project."
  type        = string
}

variable "accessors" {
  description = "Secret id => the roles allowed to read it."
  type        = map(list(string))
}

variable "members" {
  description = "Role => IAM member (serviceAccount:...)."
  type        = map(string)
}

variable "values" {
  description = "Secret id => value of its first version."
  type        = map(string)
  sensitive   = true
}

variable "labels" {
  description = "Labels on every resource."
  type        = map(string)
  default     = {}
}
