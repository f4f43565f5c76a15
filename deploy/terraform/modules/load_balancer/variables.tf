variable "project_id" {
  description = "Google Cloud project."
  type        = string
}

variable "region" {
  description = "Region of the Cloud Run services."
  type        = string
}

variable "name" {
  description = "Prefix of every load balancer resource."
  type        = string
  default     = "ballsy"
}

variable "domains" {
  description = "Host names of the managed certificate and the URL map."
  type        = list(string)
}

variable "services" {
  description = "Role => Cloud Run service name; needs the api and realtime roles."
  type        = map(string)
}

variable "log_sample_rate" {
  description = "Share of requests the load balancer logs."
  type        = number
  default     = 1.0
}

variable "rate_limit_count" {
  description = "Requests one client IP may send per interval before the ban."
  type        = number
  default     = 100
}

variable "rate_limit_interval_sec" {
  description = "Interval of the rate limit, in seconds."
  type        = number
  default     = 60
}

variable "ban_duration_sec" {
  description = "How long an IP over the limit stays banned."
  type        = number
  default     = 600
}
