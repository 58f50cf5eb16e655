"""The map: station markers coloured by current AQI, area boundaries, filters."""
