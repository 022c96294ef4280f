"""DMP API v2 services (INS qualifié), mounted under ``/si-dmp-server/v2/services/``."""
