# What the Helm chart reads from Kubernetes Secrets, kept in Secrets Manager:
# sync them into the release's namespace (External Secrets Operator, or the
# commands in README.md) and point the chart's existingSecret values at them.

resource "tls_private_key" "jwt" {
  algorithm   = "ECDSA"
  ecdsa_curve = "P256"
}

resource "aws_secretsmanager_secret" "jwt" {
  name                    = "${local.name}/jwt-es256"
  description             = "ES256 private key auth-service signs access tokens with (PEM); chart key jwt-es256.pem"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "jwt" {
  secret_id     = aws_secretsmanager_secret.jwt.id
  secret_string = tls_private_key.jwt.private_key_pem_pkcs8
}

resource "random_password" "admin" {
  length  = 24
  special = false
}

resource "aws_secretsmanager_secret" "admin" {
  name                    = "${local.name}/admin-password"
  description             = "Password of the admin account auth-service creates at first start; chart key password"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "admin" {
  secret_id     = aws_secretsmanager_secret.admin.id
  secret_string = random_password.admin.result
}

# JSON object with the chart's keys: {"auth-database-url": "postgresql://...", ...}
resource "aws_secretsmanager_secret" "database_urls" {
  name                    = "${local.name}/database-urls"
  description             = "DATABASE_URL of each souk service (role souk_<service>, database souk_<service>)"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "database_urls" {
  secret_id = aws_secretsmanager_secret.database_urls.id
  secret_string = jsonencode({
    for name, _ in local.database_services :
    "${name}-database-url" => format(
      "postgresql://souk_%s:%s@%s:%d/souk_%s?sslmode=require",
      replace(name, "-", "_"), random_password.db[name].result,
      aws_db_instance.postgres.address, aws_db_instance.postgres.port, replace(name, "-", "_")
    )
  })
}
