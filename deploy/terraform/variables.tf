variable "project" {
  description = "Name prefix of every resource (and tag Project)."
  type        = string
  default     = "souk"
}

variable "environment" {
  description = "Deployment environment, e.g. staging or production (tag Environment, name suffix)."
  type        = string
  default     = "staging"
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-west-1"
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

# ---- network ------------------------------------------------------------------

variable "vpc_cidr" {
  description = "CIDR block of the VPC; split into public, private and database subnets per availability zone."
  type        = string
  default     = "10.40.0.0/16"
}

variable "az_count" {
  description = "Availability zones to spread over (2 or 3)."
  type        = number
  default     = 3

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 3
    error_message = "az_count must be 2 or 3."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper) instead of one per zone (survives a zone outage)."
  type        = bool
  default     = true
}

# ---- EKS ----------------------------------------------------------------------

variable "eks_version" {
  description = "Kubernetes version of the EKS control plane."
  type        = string
  default     = "1.30"
}

variable "eks_public_endpoint_cidrs" {
  description = "CIDR blocks allowed to reach the EKS API endpoint from the internet; empty makes the endpoint private only."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "node_instance_types" {
  description = "EC2 instance types of the managed node group."
  type        = list(string)
  default     = ["m6i.large"]
}

variable "node_min_size" {
  description = "Minimum nodes of the managed node group."
  type        = number
  default     = 2
}

variable "node_desired_size" {
  description = "Initial nodes of the managed node group."
  type        = number
  default     = 3
}

variable "node_max_size" {
  description = "Maximum nodes of the managed node group."
  type        = number
  default     = 6
}

# ---- RDS PostgreSQL -----------------------------------------------------------

variable "db_engine_version" {
  description = "PostgreSQL major version of the RDS instance (souk is developed on 15)."
  type        = string
  default     = "15"
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_allocated_storage" {
  description = "Initial storage of the RDS instance, GiB (it grows up to db_max_allocated_storage)."
  type        = number
  default     = 50
}

variable "db_max_allocated_storage" {
  description = "Storage autoscaling ceiling of the RDS instance, GiB."
  type        = number
  default     = 200
}

variable "db_multi_az" {
  description = "Run RDS with a synchronous standby in another zone."
  type        = bool
  default     = true
}

variable "db_backup_retention_days" {
  description = "Days of automated RDS backups (point-in-time recovery window)."
  type        = number
  default     = 7
}

variable "deletion_protection" {
  description = "Protect RDS from deletion and take a final snapshot (turn off only for throw-away environments)."
  type        = bool
  default     = true
}

variable "services" {
  description = "souk services: each gets an ECR repository; those with a database get a role, a password and a DATABASE_URL secret."
  type = map(object({
    database = bool
  }))
  default = {
    gateway      = { database = false }
    auth         = { database = true }
    product      = { database = true }
    order        = { database = true }
    notification = { database = true }
    analytics    = { database = true }
    kafka-dev    = { database = false }
  }
}

# ---- MSK ----------------------------------------------------------------------

variable "kafka_version" {
  description = "Apache Kafka version of the MSK cluster."
  type        = string
  default     = "3.6.0"
}

variable "kafka_instance_type" {
  description = "MSK broker instance type."
  type        = string
  default     = "kafka.m5.large"
}

variable "kafka_brokers_per_az" {
  description = "MSK brokers in each availability zone."
  type        = number
  default     = 1
}

variable "kafka_volume_size" {
  description = "EBS storage per MSK broker, GiB."
  type        = number
  default     = 100
}

variable "kafka_partitions" {
  description = "Default partitions of a new topic (souk's topics: orders, inventory, products, users, audit)."
  type        = number
  default     = 6
}

# ---- images and CI --------------------------------------------------------------

variable "ecr_keep_images" {
  description = "Images kept per ECR repository; older ones expire."
  type        = number
  default     = 50
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose release workflow may push images to ECR through OIDC; empty: no CI role."
  type        = string
  default     = ""
}
