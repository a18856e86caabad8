"""Exports of the store in open formats: OCDS compiled releases (`aiqyn export ocds`)."""
