//! Seed Bugs 4, 9 and 14 on the oldest and newest Go: verdicts and the numbers behind them.
