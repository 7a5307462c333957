"""Word lists the seed draws from: common US names, real cities with their states and zip
prefixes, a small outdoor-clothing catalog, carriers and ticket subjects.

Own tables rather than a fake-data library: the seed stays byte-for-byte the same across library
upgrades (a library's word lists change between versions), a city always matches its state and
zip prefix, and drawing from lists is far faster than a generic provider per field.
"""

from __future__ import annotations

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Christopher Karen Charles Lisa Daniel Nancy "
    "Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily "
    "Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah "
    "Timothy Stephanie Ronald Dorothy Jason Rebecca Edward Sharon Jeffrey Laura Ryan Cynthia "
    "Jacob Amy Gary Kathleen Nicholas Angela Eric Shirley Jonathan Brenda Stephen Emma Larry "
    "Anna Justin Pamela Scott Nicole Brandon Samantha Benjamin Katherine Samuel Christine "
    "Gregory Helen Alexander Debra Patrick Rachel Frank Carolyn Raymond Janet Jack Maria "
    "Dennis Olivia Jerry Heather Tyler Diane Aaron Julie Jose Joyce Adam Victoria Nathan "
    "Ruth Henry Virginia Zachary Lauren Douglas Kelly Peter Christina Kyle Joan Noah Evelyn "
    "Ethan Judith Jeremy Andrea Walter Hannah Christian Megan Keith Cheryl Roger Jacqueline "
    "Terry Martha Austin Madison Sean Teresa Gerald Gloria Carl Sara Harold Janice Dylan Ann "
    "Arthur Kathryn Lawrence Abigail Jordan Sophia Jesse Frances Bryan Jean Billy Alice Bruce "
    "Judy Gabriel Isabella Joe Julia Logan Grace Alan Amber Juan Denise Albert Danielle Willie "
    "Marilyn Elijah Beverly Wayne Charlotte Randy Natalie Vincent Theresa Mason Diana Roy "
    "Brittany Ralph Doris Bobby Kayla Russell Alexis Bradley Lori Philip Marie Eugene Wei "
    "Priya Mohammed Aisha Hiroshi Mei Carlos Lucia Ahmed Fatima Dmitri Ingrid Kwame Amara"
).split()

LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White "
    "Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres "
    "Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts "
    "Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales "
    "Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos "
    "Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes "
    "Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry "
    "Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons "
    "Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West "
    "Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro "
    "Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry "
    "Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez "
    "Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd "
    "Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols "
    "Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce "
    "Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll "
    "Lane Riley Andrews Ray Berry Perkins Hoffman Johnston Matthews Pena Richards Okafor Singh "
    "Yamamoto Kowalski Novak Larsen Haddad Mensah Ivanova"
).split()

STREET_NAMES = (
    "Main Oak Pine Maple Cedar Elm Washington Lake Hill Park Walnut Spruce Sunset Lincoln "
    "Jackson Highland Church River Franklin Willow Meadow Forest Jefferson Madison Chestnut "
    "Ridge Laurel Cherry Adams Spring Valley Mill Center Prospect Union Dogwood Birch Summit "
    "Hickory Magnolia Aspen Sycamore Juniper Harbor Orchard Jefferson Beacon Liberty Railroad"
).split()
STREET_SUFFIXES = ("St", "Ave", "Rd", "Dr", "Ln", "Blvd", "Way", "Ct", "Pl", "Ter")

# (city, state, zip prefix, area code)
CITIES = (
    ("New York", "NY", "100", "212"),
    ("Brooklyn", "NY", "112", "718"),
    ("Buffalo", "NY", "142", "716"),
    ("Los Angeles", "CA", "900", "213"),
    ("San Diego", "CA", "921", "619"),
    ("San Francisco", "CA", "941", "415"),
    ("Sacramento", "CA", "958", "916"),
    ("Oakland", "CA", "946", "510"),
    ("Chicago", "IL", "606", "312"),
    ("Springfield", "IL", "627", "217"),
    ("Houston", "TX", "770", "713"),
    ("Dallas", "TX", "752", "214"),
    ("Austin", "TX", "787", "512"),
    ("San Antonio", "TX", "782", "210"),
    ("El Paso", "TX", "799", "915"),
    ("Phoenix", "AZ", "850", "602"),
    ("Tucson", "AZ", "857", "520"),
    ("Philadelphia", "PA", "191", "215"),
    ("Pittsburgh", "PA", "152", "412"),
    ("Jacksonville", "FL", "322", "904"),
    ("Miami", "FL", "331", "305"),
    ("Tampa", "FL", "336", "813"),
    ("Orlando", "FL", "328", "407"),
    ("Columbus", "OH", "432", "614"),
    ("Cleveland", "OH", "441", "216"),
    ("Cincinnati", "OH", "452", "513"),
    ("Indianapolis", "IN", "462", "317"),
    ("Charlotte", "NC", "282", "704"),
    ("Raleigh", "NC", "276", "919"),
    ("Seattle", "WA", "981", "206"),
    ("Spokane", "WA", "992", "509"),
    ("Denver", "CO", "802", "303"),
    ("Boulder", "CO", "803", "303"),
    ("Boston", "MA", "021", "617"),
    ("Worcester", "MA", "016", "508"),
    ("Nashville", "TN", "372", "615"),
    ("Memphis", "TN", "381", "901"),
    ("Detroit", "MI", "482", "313"),
    ("Grand Rapids", "MI", "495", "616"),
    ("Portland", "OR", "972", "503"),
    ("Eugene", "OR", "974", "541"),
    ("Las Vegas", "NV", "891", "702"),
    ("Reno", "NV", "895", "775"),
    ("Baltimore", "MD", "212", "410"),
    ("Milwaukee", "WI", "532", "414"),
    ("Madison", "WI", "537", "608"),
    ("Albuquerque", "NM", "871", "505"),
    ("Atlanta", "GA", "303", "404"),
    ("Savannah", "GA", "314", "912"),
    ("Kansas City", "MO", "641", "816"),
    ("St. Louis", "MO", "631", "314"),
    ("Omaha", "NE", "681", "402"),
    ("Minneapolis", "MN", "554", "612"),
    ("Saint Paul", "MN", "551", "651"),
    ("New Orleans", "LA", "701", "504"),
    ("Salt Lake City", "UT", "841", "801"),
    ("Boise", "ID", "837", "208"),
    ("Richmond", "VA", "232", "804"),
    ("Burlington", "VT", "054", "802"),
    ("Portland", "ME", "041", "207"),
    ("Anchorage", "AK", "995", "907"),
    ("Honolulu", "HI", "968", "808"),
)

EMAIL_DOMAINS = ("example.com", "example.net", "example.org")

# (sku, product name, price in cents)
PRODUCTS = (
    ("JKT-1001", "Ridgeline rain jacket", 12900),
    ("JKT-1002", "Summit down parka", 24900),
    ("JKT-1003", "Trailhead fleece jacket", 7900),
    ("JKT-1004", "Windbreaker shell", 5900),
    ("SHR-2001", "Merino base layer top", 6900),
    ("SHR-2002", "Flannel button-down shirt", 4900),
    ("SHR-2003", "Quick-dry hiking shirt", 3900),
    ("SHR-2004", "Organic cotton tee", 1900),
    ("SHR-2005", "Long-sleeve sun hoodie", 4500),
    ("PNT-3001", "Canyon hiking pants", 6900),
    ("PNT-3002", "Stretch chino pants", 5900),
    ("PNT-3003", "Insulated snow pants", 11900),
    ("PNT-3004", "Trail running shorts", 3400),
    ("PNT-3005", "Relaxed-fit jeans", 6400),
    ("SHO-4001", "Waterproof hiking boots", 15900),
    ("SHO-4002", "Trail running shoes", 12900),
    ("SHO-4003", "Camp slip-on shoes", 5900),
    ("SHO-4004", "Insulated winter boots", 17900),
    ("SHO-4005", "Sport sandals", 4900),
    ("ACC-5001", "Wool hiking socks (3 pack)", 2400),
    ("ACC-5002", "Knit beanie", 2200),
    ("ACC-5003", "Touchscreen gloves", 2900),
    ("ACC-5004", "Sun hat with neck cape", 3200),
    ("ACC-5005", "Leather belt", 3500),
    ("ACC-5006", "Polarized sunglasses", 6900),
    ("BAG-6001", "Daypack 22 L", 8900),
    ("BAG-6002", "Trekking backpack 55 L", 21900),
    ("BAG-6003", "Waterproof duffel 40 L", 9900),
    ("BAG-6004", "Hip pack", 2900),
    ("GEA-7001", "Insulated water bottle 1 L", 3200),
    ("GEA-7002", "Trekking poles (pair)", 8900),
    ("GEA-7003", "Headlamp 400 lm", 3900),
    ("GEA-7004", "Two-person tent", 27900),
    ("GEA-7005", "Down sleeping bag", 22900),
    ("GEA-7006", "Camp stove", 5400),
    ("GEA-7007", "Self-inflating sleeping pad", 9900),
    ("GEA-7008", "Camp chair", 6400),
    ("KID-8001", "Kids' rain jacket", 5900),
    ("KID-8002", "Kids' hiking boots", 6900),
    ("KID-8003", "Kids' fleece pullover", 3400),
)

CARRIERS = (
    ("UPS", "1Z"),
    ("FedEx", "FX"),
    ("USPS", "94"),
    ("DHL eCommerce", "GM"),
)

RETURN_REASONS = (
    "damaged",
    "wrong_item",
    "does_not_fit",
    "not_as_described",
    "changed_mind",
    "other",
)

TICKET_SUBJECTS = (
    "Package marked delivered but not received",
    "Item arrived damaged",
    "Wrong size sent",
    "Refund not received yet",
    "Question about a charge",
    "Promo code did not apply",
    "Tracking has not updated",
    "Missing item in order",
    "Request to change delivery date",
    "Product quality complaint",
)
TICKET_STATUSES = ("open", "open", "pending", "solved", "solved", "solved", "closed")
TICKET_PRIORITIES = ("low", "normal", "normal", "normal", "high", "urgent")
CALLBACK_REASONS = (
    "Follow up on a refund",
    "Help choosing a size",
    "Discuss a damaged item",
    "Billing question",
    "Order delivery problem",
)
CALLBACK_TIMES = ("tomorrow morning", "tomorrow afternoon", "this evening", "Monday at 10 am", None)
