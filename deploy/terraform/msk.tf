# Kafka for souk's events. Clients inside the VPC use the plaintext listener
# (souk's bus does not speak TLS or IAM yet); traffic between brokers and at
# rest is encrypted.

resource "aws_security_group" "kafka" {
  name        = "${local.name}-kafka"
  description = "MSK brokers, from the EKS nodes only"
  vpc_id      = module.vpc.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "kafka_from_nodes" {
  security_group_id            = aws_security_group.kafka.id
  referenced_security_group_id = module.eks.node_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 9092
  to_port                      = 9092
  description                  = "Kafka plaintext from EKS nodes"
}

resource "aws_msk_configuration" "souk" {
  name           = "${local.name}-kafka"
  kafka_versions = [var.kafka_version]

  # Topics are created on purpose (README.md), not by a typo in a producer.
  server_properties = <<-PROPERTIES
    auto.create.topics.enable=false
    default.replication.factor=${min(3, var.az_count * var.kafka_brokers_per_az)}
    min.insync.replicas=${min(2, var.az_count * var.kafka_brokers_per_az)}
    num.partitions=${var.kafka_partitions}
    unclean.leader.election.enable=false
  PROPERTIES
}

resource "aws_cloudwatch_log_group" "kafka" {
  name              = "/aws/msk/${local.name}"
  retention_in_days = 30
}

resource "aws_msk_cluster" "souk" {
  cluster_name           = local.name
  kafka_version          = var.kafka_version
  number_of_broker_nodes = var.az_count * var.kafka_brokers_per_az

  broker_node_group_info {
    instance_type   = var.kafka_instance_type
    client_subnets  = module.vpc.database_subnets
    security_groups = [aws_security_group.kafka.id]

    storage_info {
      ebs_storage_info {
        volume_size = var.kafka_volume_size
      }
    }
  }

  configuration_info {
    arn      = aws_msk_configuration.souk.arn
    revision = aws_msk_configuration.souk.latest_revision
  }

  encryption_info {
    encryption_in_transit {
      client_broker = "TLS_PLAINTEXT"
      in_cluster    = true
    }
  }

  logging_info {
    broker_logs {
      cloudwatch_logs {
        enabled   = true
        log_group = aws_cloudwatch_log_group.kafka.name
      }
    }
  }
}
