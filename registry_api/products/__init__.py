"""Products: an enterprise's products, their SDS and label revisions (checked whole for
submission, label conformity included), the public record an approved revision becomes,
the product's code and its QR downloads, and the public GHS endpoints.

Imports `accounts` and `enterprises`."""
