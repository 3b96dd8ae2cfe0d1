"""Black-box tests of the evaluator, each written from a rule of AWS's IAM User Guide."""
