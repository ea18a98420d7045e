output "region" {
  description = "AWS region of everything."
  value       = var.region
}

output "cluster_name" {
  description = "EKS cluster name."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "EKS API endpoint."
  value       = module.eks.cluster_endpoint
}

output "kubeconfig_command" {
  description = "Adds the cluster to ~/.kube/config."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${module.eks.cluster_name}"
}

output "image_registry" {
  description = "The chart's image.registry: images are <this>/<service>:<tag>."
  value       = "${data.aws_caller_identity.current.account_id}.dkr.ecr.${var.region}.amazonaws.com/${var.project}"
}

output "ecr_repositories" {
  description = "ECR repository URL of each service."
  value       = { for name, repo in aws_ecr_repository.service : name => repo.repository_url }
}

output "github_ecr_push_role_arn" {
  description = "Role the release workflow assumes to push images (empty without github_repository)."
  value       = var.github_repository == "" ? "" : aws_iam_role.github_ecr_push[0].arn
}

output "postgres_address" {
  description = "RDS PostgreSQL host name (the chart's postgresql.host)."
  value       = aws_db_instance.postgres.address
}

output "postgres_master_secret_arn" {
  description = "Secrets Manager secret RDS keeps the master user's password in."
  value       = aws_db_instance.postgres.master_user_secret[0].secret_arn
}

output "kafka_bootstrap_brokers" {
  description = "MSK plaintext bootstrap servers (the chart's kafka.brokers)."
  value       = aws_msk_cluster.souk.bootstrap_brokers
}

output "secret_arns" {
  description = "Secrets Manager secrets to sync into the release's namespace."
  value = {
    jwt           = aws_secretsmanager_secret.jwt.arn
    admin         = aws_secretsmanager_secret.admin.arn
    database_urls = aws_secretsmanager_secret.database_urls.arn
  }
}

output "db_service_passwords" {
  description = "Password of each service's role, for creating the roles (README.md)."
  value       = { for name, pw in random_password.db : name => pw.result }
  sensitive   = true
}

output "helm_values" {
  description = "Values for deploy/helm/souk (save as values-aws.yaml; secrets come from existingSecret)."
  value = yamlencode({
    image      = { registry = "${data.aws_caller_identity.current.account_id}.dkr.ecr.${var.region}.amazonaws.com/${var.project}" }
    postgresql = { host = aws_db_instance.postgres.address, port = aws_db_instance.postgres.port, sslmode = "require", existingSecret = "souk-db" }
    kafka      = { brokers = aws_msk_cluster.souk.bootstrap_brokers }
    jwt        = { existingSecret = "souk-jwt" }
    admin      = { existingSecret = "souk-admin" }
  })
}
