# Cloud Armor in front of both backends: OWASP Top 10 preconfigured WAF rules, the
# Log4Shell signature, a per-client-IP rate-based ban, and adaptive L7 DDoS defense.
# Ballsy's own per-user limits (MAX_REQUESTS_PER_MINUTE) still apply behind it.

locals {
  # Preconfigured rule sets, sensitivity 1 (fewest false positives on JSON and audio).
  waf_rules = {
    "sqli-v33-stable"              = 1000
    "xss-v33-stable"               = 1001
    "lfi-v33-stable"               = 1002
    "rfi-v33-stable"               = 1003
    "rce-v33-stable"               = 1004
    "methodenforcement-v33-stable" = 1005
    "scannerdetection-v33-stable"  = 1006
    "protocolattack-v33-stable"    = 1007
    "sessionfixation-v33-stable"   = 1008
  }
}

resource "google_compute_security_policy" "this" {
  project     = var.project_id
  name        = "${var.name}-armor"
  description = "Ballsy: OWASP rules, rate-based ban"
  type        = "CLOUD_ARMOR"

  dynamic "rule" {
    for_each = local.waf_rules
    content {
      action      = "deny(403)"
      priority    = rule.value
      description = "OWASP ${rule.key}"
      match {
        expr {
          expression = "evaluatePreconfiguredWaf('${rule.key}', {'sensitivity': 1})"
        }
      }
    }
  }

  rule {
    action      = "deny(403)"
    priority    = 1100
    description = "Log4Shell (CVE-2021-44228) and related"
    match {
      expr {
        expression = "evaluatePreconfiguredWaf('cve-canary')"
      }
    }
  }

  rule {
    action      = "rate_based_ban"
    priority    = 2000
    description = "More than ${var.rate_limit_count} requests in ${var.rate_limit_interval_sec} s from one IP: 429, then banned"
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
    rate_limit_options {
      conform_action   = "allow"
      exceed_action    = "deny(429)"
      enforce_on_key   = "IP"
      ban_duration_sec = var.ban_duration_sec
      rate_limit_threshold {
        count        = var.rate_limit_count
        interval_sec = var.rate_limit_interval_sec
      }
    }
  }

  rule {
    action      = "allow"
    priority    = 2147483647
    description = "Everything else"
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
  }

  adaptive_protection_config {
    layer_7_ddos_defense_config {
      enable = true
    }
  }

  advanced_options_config {
    json_parsing = "STANDARD"
    log_level    = "NORMAL"
  }
}
