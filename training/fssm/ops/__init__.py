"""Maths of the selective scan: hold coefficients, reference and fast scans."""
