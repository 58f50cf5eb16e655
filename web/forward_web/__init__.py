"""The admin page and API of forwarding to upstream platforms (上级平台转发, forward/):
targets with their connection state and backlog, add and remove.  Permission
``forward:admin``; passwords and SM4 keys go in, never out."""
