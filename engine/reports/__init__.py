"""Reports read from the log: compliance, annual report, exports, checkpoints."""
