# Mail the scanners flagged. Shipped with postdesk; edit freely (see README.md here).
#
# postdesk hands the scanners' results to Sieve (RFC 5235):
#   virustest  0 not tested, 1 clean, 2 virus removed, 3 cured, 4 possibly infected,
#              5 infected
#   spamtest   0 not tested, 1 clean, 2 .. 9 more and more likely spam, 10 certainly spam
#              (spamtest :percent gives 0 .. 100 instead)
#
# fileinto "Quarantine" puts the message into postdesk's quarantine: no ticket, and the
# reason recorded is the X-Postdesk-No-Autoresponse value ("virus") with this file and line.
# fileinto "Junk" needs a queue named Junk in postdesk.toml.

require ["fileinto", "editheader", "relational", "comparator-i;ascii-numeric",
         "spamtest", "virustest"];

# Infected: quarantine, nothing else runs. Use "4" to quarantine "possibly infected" too.
if virustest :value "ge" :comparator "i;ascii-numeric" "5" {
    addheader "X-Postdesk-No-Autoresponse" "virus";
    fileinto "Quarantine";
    stop;
}

# Probably spam: the Junk queue, and no autoresponse (it would go to a forged sender).
# Raise the number to let more through, lower it to catch more.
if spamtest :value "ge" :comparator "i;ascii-numeric" "5" {
    addheader "X-Postdesk-No-Autoresponse" "spam";
    fileinto "Junk";
}
