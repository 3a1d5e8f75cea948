//! Seed Bugs 3, 6 and 16 on the oldest and newest Go: verdicts and the numbers behind them.
