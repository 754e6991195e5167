# Automatic senders: no autoresponse. Shipped with postdesk; edit freely (see README.md).
#
# postdesk's own rules already refuse to answer bounces and mail marked automatic; this
# catches the addresses that say so only in their name, in the envelope or in From:.
# The match is case-insensitive.

require ["envelope", "editheader"];

if anyof (envelope :localpart :is "from"
              ["noreply", "no-reply", "no_reply", "donotreply", "do-not-reply",
               "mailer-daemon", "postmaster"],
          address :localpart :is "from"
              ["noreply", "no-reply", "no_reply", "donotreply", "do-not-reply",
               "mailer-daemon", "postmaster"]) {
    addheader "X-Postdesk-No-Autoresponse" "automatic sender";
}
