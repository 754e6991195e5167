## Examples to copy. Nothing here is active: every line is a comment.
## To use an example, remove the "# " in front of its lines and of the require line
## (lines starting with "##" are explanations and may stay). Better: copy it into a
## file of its own, e.g. 30-routing.sieve, so updates of this file do not collide.
## The first fileinto of all scripts decides the queue; the queues named must exist.

# require ["fileinto", "editheader"];

## A big customer's mail goes to its own queue, tagged with its customer number.
# if address :domain :is "from" "bigcustomer.example" {
#     addheader "X-Postdesk-Customer-Id" "4711";
#     fileinto "Key-Accounts";
# }

## Invoices to the billing queue, by a word in the subject (case-insensitive).
# if header :contains "subject" ["Rechnung", "invoice"] {
#     fileinto "Billing";
# }

## A VIP sender: high priority, and the ticket goes to alice.
# if address :is "from" "ceo@partner.example" {
#     addheader "X-Postdesk-Priority" "high";
#     addheader "X-Postdesk-Owner" "alice";
# }
