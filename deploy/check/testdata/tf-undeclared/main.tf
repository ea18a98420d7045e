# Uses a variable nobody declared: validate.py must refuse it.
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
  }
}

resource "aws_s3_bucket" "b" {
  bucket = var.bucket_name
}
