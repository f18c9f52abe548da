"""The Discord face: a commands.Bot with one cog per area."""
