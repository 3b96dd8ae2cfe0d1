"""Generated from protos/ by scripts/gen_protos.py (`make proto`); do not edit."""
