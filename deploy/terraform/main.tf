# souk on AWS: a VPC over several zones, EKS for the services, RDS PostgreSQL
# (one database per service), MSK for Kafka, ECR for the images and Secrets
# Manager for what the Helm chart needs. README.md beside this file explains
# the order of things and what is left to do by hand.

locals {
  name = "${var.project}-${var.environment}"
  azs  = slice(data.aws_availability_zones.available.names, 0, var.az_count)

  tags = merge(var.tags, {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
  })

  # Subnets: /20 private (nodes and pods), /24 public (load balancers),
  # /24 database (RDS, MSK), per zone.
  private_subnets  = [for i in range(var.az_count) : cidrsubnet(var.vpc_cidr, 4, i)]
  public_subnets   = [for i in range(var.az_count) : cidrsubnet(var.vpc_cidr, 8, 48 + i)]
  database_subnets = [for i in range(var.az_count) : cidrsubnet(var.vpc_cidr, 8, 64 + i)]

  database_services = { for name, svc in var.services : name => svc if svc.database }
}

data "aws_availability_zones" "available" {
  state = "available"
}

data "aws_caller_identity" "current" {}
