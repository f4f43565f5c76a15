variable "project_id" {
  description = "Google Cloud project."
  type        = string
}

variable "environment" {
  description = "dev, staging or production (names the budget)."
  type        = string
}

variable "domain" {
  description = "Host the uptime check calls (through the load balancer)."
  type        = string
}

variable "alert_email" {
  description = "Where alerts and budget notices go."
  type        = string
}

variable "error_rate_threshold" {
  description = "Share of 5xx responses that alerts."
  type        = number
  default     = 0.05
}

variable "latency_p95_ms" {
  description = "p95 REST latency that alerts, in milliseconds."
  type        = number
  default     = 2000
}

variable "realtime_max_instances" {
  description = "The realtime service's max instances (saturation at 90% of it)."
  type        = number
}

variable "billing_account" {
  description = "Billing account id of the budget; empty creates no budget."
  type        = string
  default     = ""
}

variable "monthly_budget_usd" {
  description = "Monthly budget (`ballsy plan` estimates it)."
  type        = number
}
