# A syntax error (unclosed block): the HCL parser must refuse it.
resource "aws_s3_bucket" "broken" {
  bucket = "x"
