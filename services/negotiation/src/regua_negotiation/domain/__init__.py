"""Pure negotiation rules: policy, debt update, offers, installment schedules, PIX payloads. No I/O."""
