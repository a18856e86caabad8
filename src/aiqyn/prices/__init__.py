"""Prices and savings: comparable unit prices, benchmarks, ceiling prices, overpricing and the money at stake.

Module 4 of the mission: the Turkistan project office saved about 372 million tenge by monitoring
procurement, and monitors medicine prices with citizens' reports. This package turns the store's items
into prices per normalised unit, benchmarks them per goods code, unit, region and year, compares medicines
with the Ministry of Health's ceiling prices, and reports the purchases above them with the money at stake.
"""
