# The global external HTTPS load balancer: one address and certificate, Cloud Armor,
# and a URL map that routes by path to the Cloud Run role that serves it:
#   /ws/*, /v1/realtime -> realtime        /api/*, /v1/*, everything else -> api
# WebSocket connections last as long as the realtime service's request timeout
# (3600 s): serverless backends take the timeout from Cloud Run, not from here.

locals {
  roles = toset(keys(var.services))
}

resource "google_compute_global_address" "this" {
  project = var.project_id
  name    = "${var.name}-ip"
}

resource "google_compute_managed_ssl_certificate" "this" {
  project = var.project_id
  name    = "${var.name}-cert"

  managed {
    domains = var.domains
  }
}

resource "google_compute_region_network_endpoint_group" "role" {
  for_each              = local.roles
  project               = var.project_id
  name                  = "${var.name}-${each.key}"
  region                = var.region
  network_endpoint_type = "SERVERLESS"

  cloud_run {
    service = var.services[each.key]
  }
}

resource "google_compute_backend_service" "role" {
  for_each              = local.roles
  project               = var.project_id
  name                  = "${var.name}-${each.key}"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  protocol              = "HTTPS"
  security_policy       = google_compute_security_policy.this.id

  backend {
    group = google_compute_region_network_endpoint_group.role[each.key].id
  }

  log_config {
    enable      = true
    sample_rate = var.log_sample_rate
  }
}

resource "google_compute_url_map" "https" {
  project         = var.project_id
  name            = var.name
  default_service = google_compute_backend_service.role["api"].id

  host_rule {
    hosts        = var.domains
    path_matcher = "ballsy"
  }

  path_matcher {
    name            = "ballsy"
    default_service = google_compute_backend_service.role["api"].id

    # The longest matching path wins: /v1/realtime beats /v1/*.
    path_rule {
      paths   = ["/ws/*", "/v1/realtime"]
      service = google_compute_backend_service.role["realtime"].id
    }

    path_rule {
      paths   = ["/api/*", "/v1/*"]
      service = google_compute_backend_service.role["api"].id
    }
  }
}

resource "google_compute_ssl_policy" "this" {
  project         = var.project_id
  name            = "${var.name}-tls"
  profile         = "RESTRICTED"
  min_tls_version = "TLS_1_2"
}

resource "google_compute_target_https_proxy" "this" {
  project          = var.project_id
  name             = "${var.name}-https"
  url_map          = google_compute_url_map.https.id
  ssl_certificates = [google_compute_managed_ssl_certificate.this.id]
  ssl_policy       = google_compute_ssl_policy.this.id
}

resource "google_compute_global_forwarding_rule" "https" {
  project               = var.project_id
  name                  = "${var.name}-https"
  target                = google_compute_target_https_proxy.this.id
  ip_address            = google_compute_global_address.this.id
  port_range            = "443"
  load_balancing_scheme = "EXTERNAL_MANAGED"
}

# Port 80 only redirects to HTTPS.
resource "google_compute_url_map" "redirect" {
  project = var.project_id
  name    = "${var.name}-redirect"

  default_url_redirect {
    https_redirect         = true
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
    strip_query            = false
  }
}

resource "google_compute_target_http_proxy" "redirect" {
  project = var.project_id
  name    = "${var.name}-redirect"
  url_map = google_compute_url_map.redirect.id
}

resource "google_compute_global_forwarding_rule" "http" {
  project               = var.project_id
  name                  = "${var.name}-http"
  target                = google_compute_target_http_proxy.redirect.id
  ip_address            = google_compute_global_address.this.id
  port_range            = "80"
  load_balancing_scheme = "EXTERNAL_MANAGED"
}
