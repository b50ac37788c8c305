"""The Reins data plane: a gevent HTTP gateway between coding agents and model providers.

``make_gateway(config)`` (in ``server``) builds a gateway from a validated ``GatewayConfig``;
``reins gateway`` (in ``cli``) runs it. Library modules never monkey-patch: only the
``reins gateway`` entry point does, before anything else is imported.
"""
