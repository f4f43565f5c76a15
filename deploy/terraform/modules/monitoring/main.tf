# Cloud Monitoring for the Cloud Run deployment: the same three alerts as the
# Prometheus rules in deploy/monitoring/alerts.yaml (5xx > 5 %, p95 > 2 s, saturation),
# an uptime check on /health through the load balancer, and a monthly budget.
# docs/runbook.md says what to do when each fires.

data "google_project" "this" {
  project_id = var.project_id
}

resource "google_monitoring_notification_channel" "email" {
  project      = var.project_id
  display_name = "Ballsy on-call"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
}

locals {
  run      = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = starts_with(\"ballsy-\")"
  channels = [google_monitoring_notification_channel.email.id]
}

resource "google_monitoring_alert_policy" "error_rate" {
  project      = var.project_id
  display_name = "Ballsy: more than 5% of requests answer 5xx"
  combiner     = "OR"

  conditions {
    display_name = "5xx share per service over 5 minutes"
    condition_threshold {
      filter             = "${local.run} AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      denominator_filter = "${local.run} AND metric.type = \"run.googleapis.com/request_count\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.error_rate_threshold
      duration           = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
      denominator_aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
    }
  }

  documentation {
    content   = "Runbook: docs/runbook.md#high-error-rate"
    mime_type = "text/markdown"
  }
  notification_channels = local.channels
}

resource "google_monitoring_alert_policy" "latency" {
  project      = var.project_id
  display_name = "Ballsy: p95 REST latency above 2 s"
  combiner     = "OR"

  conditions {
    # The api service only: a realtime "request" is a WebSocket that lasts minutes.
    display_name = "ballsy-api p95 request latency"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"ballsy-api\" AND metric.type = \"run.googleapis.com/request_latencies\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.latency_p95_ms
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_PERCENTILE_95"
        group_by_fields      = ["resource.labels.service_name"]
      }
    }
  }

  documentation {
    content   = "Runbook: docs/runbook.md#high-latency"
    mime_type = "text/markdown"
  }
  notification_channels = local.channels
}

resource "google_monitoring_alert_policy" "saturation" {
  project      = var.project_id
  display_name = "Ballsy: instances saturated"
  combiner     = "OR"

  conditions {
    display_name = "CPU utilization p95 above 85%"
    condition_threshold {
      filter          = "${local.run} AND metric.type = \"run.googleapis.com/container/cpu/utilizations\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0.85
      duration        = "600s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_PERCENTILE_95"
        cross_series_reducer = "REDUCE_MAX"
        group_by_fields      = ["resource.labels.service_name"]
      }
    }
  }

  conditions {
    display_name = "Memory utilization p95 above 90%"
    condition_threshold {
      filter          = "${local.run} AND metric.type = \"run.googleapis.com/container/memory/utilizations\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0.9
      duration        = "600s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_PERCENTILE_95"
        cross_series_reducer = "REDUCE_MAX"
        group_by_fields      = ["resource.labels.service_name"]
      }
    }
  }

  conditions {
    display_name = "Realtime instances near max_instances"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"ballsy-realtime\" AND metric.type = \"run.googleapis.com/container/instance_count\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.realtime_max_instances * 0.9
      duration        = "600s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_MAX"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
    }
  }

  documentation {
    content   = "Runbook: docs/runbook.md#saturation"
    mime_type = "text/markdown"
  }
  notification_channels = local.channels
}

resource "google_monitoring_uptime_check_config" "health" {
  project      = var.project_id
  display_name = "Ballsy /health through the load balancer"
  timeout      = "10s"
  period       = "60s"

  http_check {
    path         = "/health"
    port         = 443
    use_ssl      = true
    validate_ssl = true
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = var.project_id
      host       = var.domain
    }
  }
}

resource "google_monitoring_alert_policy" "uptime" {
  project      = var.project_id
  display_name = "Ballsy: /health failing from the internet"
  combiner     = "OR"

  conditions {
    display_name = "Uptime check failing in more than one region"
    condition_threshold {
      filter          = "resource.type = \"uptime_url\" AND metric.type = \"monitoring.googleapis.com/uptime_check/check_passed\" AND metric.labels.check_id = \"${google_monitoring_uptime_check_config.health.uptime_check_id}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "300s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_NEXT_OLDER"
        cross_series_reducer = "REDUCE_COUNT_FALSE"
        group_by_fields      = ["resource.labels.host"]
      }
    }
  }

  documentation {
    content   = "Runbook: docs/runbook.md#high-error-rate"
    mime_type = "text/markdown"
  }
  notification_channels = local.channels
}

resource "google_billing_budget" "monthly" {
  count           = var.billing_account == "" ? 0 : 1
  billing_account = var.billing_account
  display_name    = "Ballsy ${var.environment}"

  budget_filter {
    projects = ["projects/${data.google_project.this.number}"]
  }

  amount {
    specified_amount {
      currency_code = "USD"
      units         = tostring(var.monthly_budget_usd)
    }
  }

  threshold_rules {
    threshold_percent = 0.5
  }
  threshold_rules {
    threshold_percent = 0.9
  }
  threshold_rules {
    threshold_percent = 1.0
  }
  threshold_rules {
    threshold_percent = 1.0
    spend_basis       = "FORECASTED_SPEND"
  }

  all_updates_rule {
    monitoring_notification_channels = local.channels
  }
}
