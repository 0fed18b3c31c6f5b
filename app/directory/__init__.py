"""The city's directory (LDAP / Active Directory): sign-in, sync, department mapping, staff roster."""
