"""Contact center with CTI for securities brokerages, driving Asterisk over AMI."""

__version__ = "0.1.0"
