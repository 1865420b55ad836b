"""CME Globex through an FCM's or ISV's FIX 4.4 gateway: tag profile and symbology."""
