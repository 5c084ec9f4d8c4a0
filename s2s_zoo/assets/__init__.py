"""Files shipped with s2s_zoo (a CJK font subset for attention plots)."""
