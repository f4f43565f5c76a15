terraform {
  required_version = ">= 1.6"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.10, < 7.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.6"
    }
  }

  # State in a versioned GCS bucket of your own:
  #   terraform init -backend-config="bucket=<state-bucket>"
  backend "gcs" {
    prefix = "ballsy/production"
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}
