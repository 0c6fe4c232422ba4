"""Reviews: the review pipelines as data, filing registrations, info updates and
deregistrations, the queues, decisions (one of two concurrent deciders wins), what a final
approval carries out, registration certificates, and the suspension of codes.

The highest domain: imports `accounts`, `enterprises` and `products`."""
