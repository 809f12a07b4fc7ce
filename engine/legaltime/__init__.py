"""Legal time: the working-day calendar, deadlines, reminder ladders, suspension."""
