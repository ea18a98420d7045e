module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 20.24"

  cluster_name    = local.name
  cluster_version = var.eks_version

  vpc_id     = module.vpc.vpc_id
  subnet_ids = module.vpc.private_subnets

  cluster_endpoint_public_access       = length(var.eks_public_endpoint_cidrs) > 0
  cluster_endpoint_public_access_cidrs = var.eks_public_endpoint_cidrs
  cluster_endpoint_private_access      = true

  # Whoever applies this can administer the cluster (EKS access entries).
  enable_cluster_creator_admin_permissions = true

  # Secrets encrypted at rest with a key of the cluster's own.
  cluster_encryption_config = {
    resources = ["secrets"]
  }

  cluster_addons = {
    coredns                = {}
    kube-proxy             = {}
    vpc-cni                = {}
    eks-pod-identity-agent = {}
  }

  eks_managed_node_groups = {
    default = {
      instance_types = var.node_instance_types
      min_size       = var.node_min_size
      desired_size   = var.node_desired_size
      max_size       = var.node_max_size
      capacity_type  = "ON_DEMAND"
      # IMDSv2 only, and not reachable from pods (one hop).
      metadata_options = {
        http_endpoint               = "enabled"
        http_tokens                 = "required"
        http_put_response_hop_limit = 1
      }
    }
  }
}
