"""Common: the building blocks that every CRM-AID function shares."""
